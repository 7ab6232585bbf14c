"""The Slack adapter: the Bolt app factory, ids shared with manifest.yml, and Block Kit rendering."""
