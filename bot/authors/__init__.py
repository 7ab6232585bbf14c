"""The authors of a release's commits: who they are in Slack, the DM each gets when their change goes
live, is rolled back or fails verification, and `/deploy where` (which environments carry a commit)."""
