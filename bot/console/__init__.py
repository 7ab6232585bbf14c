"""Local terminal console: shows what Switchman posts to Slack as plain text you can press by number."""
