#!/bin/sh
# make check: replay the image fuzz target's committed corpus (one TAP test).
exec "${builddir:-.}/tests/fuzz/replay_image" "$srcdir"/tests/fuzz/corpus/image/*
