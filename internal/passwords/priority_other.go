//go:build !linux

package passwords

// Elsewhere a process's threads share one priority.
const threadPriorities = false

func lowerThreadPriority(int) error { return nil }

func threadNice() (int, error) { return 0, nil }
