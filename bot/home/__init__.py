"""What a person's App Home tab shows (§8): their services, releases in flight, their next on-call shift."""
