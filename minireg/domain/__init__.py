"""The pure core: records, events, state, stages, policies, URIs. No disk, git or clock here."""
