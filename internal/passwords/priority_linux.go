package passwords

import "syscall"

// On Linux each thread has its own nice value: setpriority with a thread
// id changes that thread alone.
const threadPriorities = true

func lowerThreadPriority(nice int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}

// threadNice is the calling thread's nice value (tests).
func threadNice() (int, error) {
	// The raw syscall answers 20 - nice, so that it is never negative.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - prio, err
}
