"""`python -m bot`: the same as `hongtu bot`."""

from bot.cli import bot_command

if __name__ == "__main__":
    bot_command(prog_name="python -m bot")
