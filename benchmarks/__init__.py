"""Benchmarks: each bench_<topic>.py has a main() that prints figures. `make bench` runs all."""
