"""The local API: an OpenAI-compatible HTTP server over the one engine that the window also uses.

Other programs (editors, scripts, notebooks) talk to Hearth's model through it with any OpenAI client. Secure by
default: it listens on 127.0.0.1, wants the API key that Hearth made on first use (kept in the config folder, readable
only by this user), refuses Host headers that are not this computer's (DNS rebinding) and Origins it was not told
about (CORS is off unless origins are listed), and bodies over 20 MB. Its log records method, path, status, timing
and token counts, never message text (unless debug logging is on).

- ``config``: the server's settings and the API key file.
- ``guard``: the ASGI middleware in front of everything (Host, Origin, body size, key, access log, counters).
- ``requests``: OpenAI request bodies checked and turned into engine requests.
- ``responses``: engine results turned into OpenAI response objects and stream chunks.
- ``errors``: OpenAI error objects with the right status.
- ``catalog``: model ids (the loaded model; installed ones when switching is allowed).
- ``app``: the Starlette application (routes).
- ``runner``: uvicorn on a socket of its own, in the foreground (``hearth serve``) or on a thread (the window).

Qt-free, like ``hearth.cli``; built on Starlette, uvicorn and sse-starlette.
"""
