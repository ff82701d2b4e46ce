"""rdsshare benchmarks on the offline test bed: ``python benchmarks/run.py`` runs them all."""
