"""The git adapter: repository facts, commits of registry writes, the merge driver."""
