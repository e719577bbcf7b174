"""The engine on real GGUF files: streaming, stopping, cache reuse, templates, splits and expert overrides."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.engine import EngineClient, Finished, PromptProgress, TokenDelta
from hearth.core.engine.events import AnswerStats
from hearth.core.engine.plan import LoadPlan, expert_patterns
from hearth.core.engine.sampling import SamplingParams
from tests.fixtures.tiny_llama4 import expert_tensor_names

# These tests are about streaming, stopping and the cache, so the base model must run to the token limit: the loop
# guard, which would end its looping answers, is tested on its own below and in test_loops.py.
GREEDY = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=24, seed=1)


def run(client: EngineClient, messages: list[dict[str, str]], params: SamplingParams = GREEDY) -> tuple[
    list[str], AnswerStats
]:
    deltas: list[str] = []
    stats = None
    for event in client.chat(messages, params):
        if isinstance(event, TokenDelta):
            deltas.append(event.text)
        elif isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    return deltas, stats


@pytest.fixture(scope="module")
def gemma(gemma_path: Path) -> Iterator[EngineClient]:
    client = EngineClient()
    client.load(LoadPlan(str(gemma_path), n_ctx=2048))
    yield client
    client.close()


def test_streams_tokens_one_by_one_with_stats(gemma: EngineClient) -> None:
    deltas, stats = run(gemma, [{"role": "user", "content": "Name three colours."}])
    assert len(deltas) >= 2, "the answer arrives as several deltas, not one block"
    assert stats.tokens == GREEDY.max_tokens
    assert stats.stop_reason == "length"
    assert stats.prompt_tokens > 5
    assert stats.ttft_s is not None and stats.ttft_s > 0
    assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
    assert stats.template == "fallback:gemma", "the base model has no template; the gemma fallback is used"


def test_greedy_answers_are_reproducible(gemma: EngineClient) -> None:
    messages = [{"role": "user", "content": "Count: one, two,"}]
    first, _ = run(gemma, messages)
    second, _ = run(gemma, messages)
    assert "".join(first) == "".join(second)


def test_follow_up_turn_reuses_the_cache(gemma: EngineClient) -> None:
    history = [{"role": "user", "content": "Tell me about rivers. " * 40}]
    deltas, first = run(gemma, history)
    history += [{"role": "assistant", "content": "".join(deltas)}, {"role": "user", "content": "And lakes?"}]
    _, second = run(gemma, history)
    assert first.cached_tokens == 0 or first.cached_tokens < first.prompt_tokens
    # Everything up to the new user turn is already in the cache: only the new tokens are read.
    assert second.cached_tokens >= first.prompt_tokens
    assert second.prompt_tokens - second.cached_tokens < 30


def test_stop_mid_answer_ends_within_a_token_and_keeps_model_ready(gemma: EngineClient) -> None:
    params = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=400, seed=1)
    after_cancel = 0
    cancelled = False
    stats = None
    for event in gemma.chat([{"role": "user", "content": "Write a long story."}], params):
        if isinstance(event, TokenDelta):
            if cancelled:
                after_cancel += 1
            else:
                gemma.cancel()
                cancelled = True
        elif isinstance(event, Finished):
            stats = event.stats
    assert stats is not None
    assert stats.stop_reason == "cancelled"
    assert stats.tokens < params.max_tokens
    assert after_cancel <= 2, f"{after_cancel} tokens arrived after Stop"
    _, again = run(gemma, [{"role": "user", "content": "Hello"}])
    assert again.stop_reason == "length"


def test_abort_during_prompt_processing_between_batches(gemma_path: Path) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(gemma_path), n_ctx=4096, n_batch=64))
        long_prompt = [{"role": "user", "content": "The quick brown fox jumps over the lazy dog. " * 250}]
        progress: list[PromptProgress] = []
        stats = None
        for event in client.chat(long_prompt, SamplingParams(loop_guard=False, max_tokens=8)):
            if isinstance(event, PromptProgress):
                progress.append(event)
                if event.done > 0:
                    client.cancel()
            elif isinstance(event, TokenDelta):
                pytest.fail("no token may be produced after the prompt was cancelled")
            elif isinstance(event, Finished):
                stats = event.stats
        assert stats is not None and stats.stop_reason == "cancelled"
        assert progress[0].total > 2000
        assert progress[-1].done < progress[-1].total
        assert stats.context_used < stats.prompt_tokens
        _, again = run(client, [{"role": "user", "content": "Hello"}])
        assert again.tokens == GREEDY.max_tokens


def test_abort_callback_interrupts_a_single_long_batch(gemma_path: Path) -> None:
    """With one 4096-token batch there is no batch boundary: only llama.cpp's abort callback can stop it."""
    with EngineClient() as client:
        client.load(LoadPlan(str(gemma_path), n_ctx=4096, n_batch=4096))
        long_prompt = [{"role": "user", "content": "Rain falls on the quiet town tonight. " * 330}]
        stats = None
        for event in client.chat(long_prompt, SamplingParams(loop_guard=False, max_tokens=8)):
            if isinstance(event, PromptProgress) and event.done == 0:
                client.cancel()
            elif isinstance(event, Finished):
                stats = event.stats
        assert stats is not None and stats.stop_reason == "cancelled" and stats.tokens == 0
        assert stats.context_used < stats.prompt_tokens, "the batch was interrupted, not finished"
        _, again = run(client, [{"role": "user", "content": "Hi"}])
        assert again.tokens == GREEDY.max_tokens


def test_tiny_llama4_uses_its_own_chat_template(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        info = client.load(LoadPlan(str(tiny_llama4), n_ctx=512))
        assert info.architecture == "llama4"
        assert info.expert_count == 4 and info.is_moe
        assert info.template_origin == "gguf"
        _, stats = run(client, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}])
        assert stats.template == "gguf"
        assert stats.tokens > 0


def test_split_model_loads_from_its_first_shard(tiny_llama4_split: list[Path]) -> None:
    assert len(tiny_llama4_split) == 2
    with EngineClient() as client:
        info = client.load(LoadPlan(str(tiny_llama4_split[0]), n_ctx=512))
        assert info.n_layer == 4
        _, stats = run(client, [{"role": "user", "content": "hello"}])
        assert stats.tokens == GREEDY.max_tokens


def test_naming_a_later_shard_loads_the_whole_model(tiny_llama4_split: list[Path]) -> None:
    with EngineClient() as client:
        info = client.load(LoadPlan(str(tiny_llama4_split[1]), n_ctx=512))
        assert info.path == str(tiny_llama4_split[0])


@pytest.mark.parametrize("layers", [None, 2])
def test_expert_tensors_are_kept_on_the_cpu(tiny_llama4: Path, layers: int | None) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=512, cpu_tensor_patterns=expert_patterns(layers)))
        _, stats = run(client, [{"role": "user", "content": "hello"}])
        assert stats.tokens > 0
        log = "\n".join(client.log_tail(400))
    overridden = {
        line.split()[1] for line in log.splitlines() if line.startswith("tensor ") and "overridden to CPU" in line
    }
    expected = set(expert_tensor_names())
    if layers is not None:
        expected = {name for name in expected if int(name.split(".")[1]) < layers}
    assert overridden == expected


def test_long_context_is_trimmed_oldest_turn_first(tiny_llama4: Path) -> None:
    turns = list(
        itertools.chain.from_iterable(
            ({"role": "user", "content": f"question {i} " + "hello world " * 10},
             {"role": "assistant", "content": "answer " * 10})
            for i in range(12)
        )
    )
    messages = [{"role": "system", "content": "Be brief."}, *turns, {"role": "user", "content": "last question"}]
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=256))
        _, stats = run(client, messages, SamplingParams(loop_guard=False, temperature=0.0, max_tokens=16))
    assert stats.trimmed_turns > 0
    assert stats.prompt_tokens <= 256 - 16
    assert stats.tokens > 0


def test_answer_stops_cleanly_when_the_context_is_full(tiny_llama4: Path) -> None:
    with EngineClient() as client:
        client.load(LoadPlan(str(tiny_llama4), n_ctx=128))
        unlimited = SamplingParams(loop_guard=False, temperature=0.0, max_tokens=None)
        _, stats = run(client, [{"role": "user", "content": "hello"}], unlimited)
    assert stats.stop_reason == "context_full"
    assert stats.context_used == stats.n_ctx


def test_a_looping_answer_is_ended_and_marked(gemma: EngineClient) -> None:
    """The base model loops on a chat question; the loop guard ends the answer long before its token limit."""
    question = [{"role": "user", "content": "What is the capital of France?"}]
    looping = SamplingParams(temperature=0.0, max_tokens=200, dry_multiplier=0.0, loop_guard=True)
    _, stats = run(gemma, question, looping)
    assert stats.stop_reason == "repetition"
    assert stats.tokens < 150
    _, free = run(gemma, question, looping.with_changes(loop_guard=False, max_tokens=stats.tokens + 8))
    assert free.stop_reason == "length", "without the guard the same answer runs on"


def test_dry_makes_a_greedy_answer_repeat_itself_less(gemma: EngineClient) -> None:
    question = [{"role": "user", "content": "Say hello in Spanish."}]
    plain = SamplingParams(temperature=0.0, max_tokens=64, dry_multiplier=0.0, loop_guard=False)
    without, _ = run(gemma, question, plain)
    with_dry, _ = run(gemma, question, plain.with_changes(dry_multiplier=0.8))

    def most_repeated_line(deltas: list[str]) -> int:
        lines = [line.strip() for line in "".join(deltas).splitlines() if line.strip()]
        return max((lines.count(line) for line in lines), default=0)

    assert most_repeated_line(with_dry) < most_repeated_line(without)
