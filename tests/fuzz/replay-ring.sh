#!/bin/sh
# make check: replay the ring fuzz target's committed corpus (one TAP test).
exec "${builddir:-.}/tests/fuzz/replay_ring" "$srcdir"/tests/fuzz/corpus/ring/*
