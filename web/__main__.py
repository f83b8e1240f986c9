"""`python -m web [--host …] [--port …]`: the same as `hongtu serve`."""

from web.cli import serve

serve(prog_name="python -m web")
