// The node image's pause (sandbox) image program: the project's own.
module imagevolume.local/tools/pause

go 1.26.0
