"""Answer quality of the default model with Hearth's defaults: everyday prompts, counting loops, answers that end by
themselves, right answers and length; then a question about a real multi-page PDF manual.

    python tests/quality/run.py            # a table
    python tests/quality/run.py --json     # one JSON object (what tests/bench/README.md quotes)
    python tests/quality/run.py --model path/to/model.gguf --reduced

The model is loaded with the planner's plan, its recommended sampling and its recommended system prompt, exactly as
a fresh install chats (a fixed seed per prompt, so two runs on one machine agree). ``--no-guard`` switches the
repetition guard and loop detector off, to see what they save; ``--no-system-prompt`` leaves the recommended system
prompt out (the chat template's own default applies), to see what it changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "app") not in sys.path:
    sys.path.insert(0, str(ROOT / "app"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hearth.core.chat.budget import question_with_documents  # noqa: E402
from hearth.core.documents import extract_bytes  # noqa: E402
from hearth.core.engine import EngineClient, Finished, TokenDelta  # noqa: E402
from hearth.core.engine.loops import repeats_in  # noqa: E402
from hearth.core.engine.sampling import SamplingParams  # noqa: E402
from hearth.core.models.library.recommended import recommended_sampling  # noqa: E402
from hearth.core.models.library.starter import ensure_starter_model  # noqa: E402
from hearth.core.models.planning.load import plan_for_path  # noqa: E402
from hearth.core.paths import AppPaths  # noqa: E402
from hearth.core.retrieval import estimated_prompt_speed, reading_budget  # noqa: E402
from tests.fixtures.documents import MANUAL_ANSWER_PAGE, make_pdf, manual_pages  # noqa: E402
from tests.quality.prompts import EVERYDAY_PROMPTS, REDUCED, EverydayPrompt  # noqa: E402

MANUAL_QUESTION = "How do I reset the filter reminder light?"


@dataclass
class PromptResult:
    """One everyday prompt's answer, judged."""

    prompt: str
    answer: str
    stop_reason: str
    tokens: int
    seconds: float
    ended_by_itself: bool
    looped: bool
    right: bool | None  # None: nothing to check


def ask(client: EngineClient, messages: list[dict[str, Any]], params: SamplingParams) -> tuple[str, Any, float]:
    started = time.perf_counter()
    parts: list[str] = []
    stats = None
    for event in client.chat(messages, params):
        if isinstance(event, TokenDelta):
            parts.append(event.text)
        elif isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    return "".join(parts), stats, time.perf_counter() - started


def judge(item: EverydayPrompt, answer: str, stop_reason: str, tokens: int, seconds: float) -> PromptResult:
    """Ended by itself: the model ended its turn. Looped: the guard ended it, or the text repeats itself anyway."""
    looped = stop_reason == "repetition" or repeats_in(answer) is not None
    right = any(word.lower() in answer.lower() for word in item.expect) if item.expect else None
    return PromptResult(item.text, answer, stop_reason, tokens, round(seconds, 2),
                        stop_reason in ("eos", "stop"), looped, right)


def run(model: Path, prompts: tuple[EverydayPrompt, ...], *, guard: bool = True, max_tokens: int | None = None,
        manual: bool = True, system_prompt: bool = True) -> dict[str, Any]:
    plan = plan_for_path(model)
    recommendation = recommended_sampling(model)
    params = recommendation.params
    system = recommendation.system_prompt if system_prompt else ""
    head = [{"role": "system", "content": system}] if system else []
    if not guard:
        params = params.with_changes(dry_multiplier=0.0, loop_guard=False)
    if max_tokens is not None:
        params = params.with_changes(max_tokens=max_tokens)
    results: list[PromptResult] = []
    with EngineClient() as client:
        info = client.load(plan)
        for n, item in enumerate(prompts):
            answer, stats, seconds = ask(client, [*head, {"role": "user", "content": item.text}],
                                         params.with_changes(seed=1000 + n))
            results.append(judge(item, answer, stats.stop_reason, stats.tokens, seconds))
            print(f"[{n + 1}/{len(prompts)}] {stats.stop_reason}, {stats.tokens} tokens, {seconds:.0f} s: "
                  f"{item.text}", file=sys.stderr, flush=True)
        document = _manual_check(client, info.n_ctx, params, plan, head) if manual else None
    count = len(results)
    capital = next((r for r in results if r.prompt == "What is the capital of France?"), None)
    return {
        "model": model.name,
        "sampling": {"source": recommendation.source, **{k: v for k, v in params.to_dict().items() if k != "stop"}},
        "system_prompt": system,
        "n_ctx": info.n_ctx,
        "prompts": count,
        "loops": sum(r.looped for r in results),
        "ended_by_itself": sum(r.ended_by_itself for r in results),
        "right": sum(bool(r.right) for r in results if r.right is not None),
        "checked": sum(r.right is not None for r in results),
        "capital_of_france": capital.answer.strip() if capital else None,
        "median_tokens": sorted(r.tokens for r in results)[count // 2] if results else 0,
        "median_chars": sorted(len(r.answer) for r in results)[count // 2] if results else 0,
        "seconds": round(sum(r.seconds for r in results), 1),
        "document": document,
        "answers": [asdict(r) for r in results],
    }


def _manual_check(client: EngineClient, n_ctx: int, params: SamplingParams, plan: Any,
                  head: list[dict[str, Any]]) -> dict[str, Any]:
    """A question about a 36-page manual: how much of the context the passages take, whether the page with the
    answer is among them, and what the model answers."""
    document = extract_bytes(make_pdf(manual_pages(36)), "aurora-manual.pdf")
    expected = plan.extra.get("expected_tokens_per_s")
    reading = reading_budget(n_ctx, estimated_prompt_speed(
        expected_writing=float(expected) if isinstance(expected, (int, float)) else None))
    content, result = question_with_documents(MANUAL_QUESTION, [document], n_ctx=n_ctx,
                                              max_tokens=params.max_tokens, reading=reading)
    assert result is not None
    answer, stats, seconds = ask(client, [*head, {"role": "user", "content": content}], params.with_changes(seed=7))
    page = f"aurora-manual.pdf p.{MANUAL_ANSWER_PAGE}"
    return {
        "question": MANUAL_QUESTION,
        "pages": document.page_count,
        "prompt_tokens": stats.prompt_tokens,
        "share_of_context": round(stats.prompt_tokens / n_ctx, 3),
        "limit": result.limit,
        "passages": result.choices[0].summary,
        "answer_page_sent": page in result.labels,
        "answer_page_cited": f"p.{MANUAL_ANSWER_PAGE}" in answer,
        # What the window shows under an answer that cites nothing ("Best matches"), best first.
        "best_matches": list(result.best_labels()),
        "answer_page_first_match": result.best_labels()[:1] == (page,),
        "mentions_filter_button": "filter button" in answer.lower(),
        "first_token_s": round(stats.ttft_s, 2) if stats.ttft_s is not None else None,
        "seconds": round(seconds, 1),
        "stop_reason": stats.stop_reason,
        "answer": answer,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="GGUF file (default: the starter model, as a fresh install)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--reduced", action="store_true", help=f"{len(REDUCED)} prompts instead of "
                        f"{len(EVERYDAY_PROMPTS)}, no document")
    parser.add_argument("--no-guard", action="store_true", help="repetition guard and loop detector off")
    parser.add_argument("--no-system-prompt", action="store_true", help="leave the recommended system prompt out")
    parser.add_argument("--max-tokens", type=int, help="override the answer length limit")
    args = parser.parse_args(argv)
    model = args.model or ensure_starter_model(AppPaths.default().ensure().models_dir)
    report = run(model, REDUCED if args.reduced else EVERYDAY_PROMPTS, guard=not args.no_guard,
                 max_tokens=args.max_tokens, manual=not args.reduced, system_prompt=not args.no_system_prompt)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"{report['model']} · sampling: {report['sampling']['source']} · context {report['n_ctx']:,} · system "
          f"prompt: {report['system_prompt'] or '(none)'}")
    for r in report["answers"]:
        mark = "LOOP" if r["looped"] else ("ends" if r["ended_by_itself"] else r["stop_reason"])
        right = "" if r["right"] is None else (" right" if r["right"] else " WRONG")
        print(f"  [{mark}{right}] {r['prompt']}\n      {' '.join(r['answer'].split())[:150]}")
    print(f"Loops: {report['loops']} of {report['prompts']} · ended by themselves: {report['ended_by_itself']} "
          f"of {report['prompts']} · right: {report['right']} of {report['checked']} · median "
          f"{report['median_tokens']} tokens")
    doc = report["document"]
    if doc:
        print(f"Manual ({doc['pages']} pages): {doc['prompt_tokens']:,} prompt tokens "
              f"({doc['share_of_context']:.0%} of the context, {doc['limit'] or 'no limit'}), "
              f"{doc['passages']}, page {MANUAL_ANSWER_PAGE} sent: {doc['answer_page_sent']}, best match: "
              f"{doc['best_matches'][:1]}, first token "
              f"{doc['first_token_s']} s\n      {' '.join(doc['answer'].split())[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
