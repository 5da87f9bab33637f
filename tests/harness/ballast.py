"""A module that holds 300 MB from its import on: a worker's start-up cost, like CUDA's libraries on a GPU."""

BALLAST = b"\x01" * (300 * 2**20)
