#!/bin/sh
# make check: replay the committed fuzz corpus (TAP, one line per input).
exec "${builddir:-.}/tests/fuzz/replay_dispatch" "$srcdir"/tests/fuzz/corpus/dispatch/*
