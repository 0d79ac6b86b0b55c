#!/bin/sh
echo "run from an image volume"
