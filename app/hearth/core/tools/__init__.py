"""Tools a model may call: MCP servers the user sets up, and Hearth's own (a calculator, the date, a picked file).

``config`` holds what the user set up; ``mcp_client`` talks to the servers (official ``mcp`` SDK, on a thread of its
own); ``builtin`` and ``calculator`` are Hearth's own tools; ``approval`` is who decides whether a call runs;
``results`` makes tool output safe to show the model; ``toolbox`` gathers the tools of one answer; ``loop`` runs an
answer's rounds of calls; ``records`` is what one call was. Qt-free: the window and ``hearth chat`` both use it.
"""
