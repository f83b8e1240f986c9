"""The Hongtu Telegram bot: free-text and guided trip planning over `planner/` (see bot/app.py)."""
