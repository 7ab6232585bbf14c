"""A Slack workspace in a box: state, a Web API server on loopback, and Slack's side of interactions.

The console runs the real app against it; the tests run it with a contract checker that fails
any call the real Slack would reject. Only the wire is fake: Switchman's code under it is real.
"""
