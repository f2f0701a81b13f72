package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Memory is a process's resident set, from /proc/<pid>/status.
type Memory struct {
	RSS int64 // VmRSS: resident now, bytes
	HWM int64 // VmHWM: peak resident since start or the last ResetPeak, bytes
}

// ReadMemory reads pid's memory figures (Linux only).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read memory: %w", err)
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return Memory{}, fmt.Errorf("read memory of %d: %w", pid, err)
	}
	return m, nil
}

// parseStatus reads VmRSS and VmHWM (in kB) from a /proc status file.
func parseStatus(r io.Reader) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("unexpected %s line %q", name, rest)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return Memory{}, err
	}
	if seen != 2 {
		return Memory{}, fmt.Errorf("VmRSS or VmHWM missing")
	}
	return m, nil
}

// ResetPeak restarts pid's VmHWM from its current RSS (Linux 4.0+, writing
// 5 to clear_refs; needs the right to write that file, as owner or root),
// so a later VmHWM is the peak of what ran in between.
func ResetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}

// MiB formats bytes in mebibytes.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// LoadAverage returns the machine's one-minute load average (Linux only):
// printed beside the figures, it shows when other work shared the cores.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("load average: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("load average: empty /proc/loadavg")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("load average: %w", err)
	}
	return v, nil
}

// CPUTimes is what the machine and two processes spent during a window,
// read from /proc (Linux only).
type CPUTimes struct {
	Server time.Duration // the server process, user and system
	Client time.Duration // this process (the load generator), user and system
	Idle   time.Duration // all cores idle or waiting for I/O, summed over cores
	Total  time.Duration // all cores' time, summed
}

// ReadCPU reads the cumulative figures; serverPID 0 leaves Server zero.
// Subtract two readings for a window.
func ReadCPU(serverPID int) (CPUTimes, error) {
	var c CPUTimes
	var err error
	if serverPID > 0 {
		if c.Server, err = processCPU(fmt.Sprintf("/proc/%d/stat", serverPID)); err != nil {
			return c, err
		}
	}
	if c.Client, err = processCPU("/proc/self/stat"); err != nil {
		return c, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, fmt.Errorf("read cpu: %w", err)
	}
	c.Idle, c.Total, err = parseMachineCPU(string(b))
	return c, err
}

// Sub returns c minus an earlier reading.
func (c CPUTimes) Sub(earlier CPUTimes) CPUTimes {
	return CPUTimes{Server: c.Server - earlier.Server, Client: c.Client - earlier.Client,
		Idle: c.Idle - earlier.Idle, Total: c.Total - earlier.Total}
}

// clockTick is the unit of /proc's CPU counters: USER_HZ, 100 on every
// Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// processCPU reads utime+stime from a /proc/<pid>/stat file.
func processCPU(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read cpu: %w", err)
	}
	return parseProcessCPU(string(b))
}

// parseProcessCPU takes utime and stime, the 14th and 15th fields; the
// command name (field 2) may hold spaces, so fields count from its ')'.
func parseProcessCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("read cpu: no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("read cpu: short stat line")
	}
	var sum int64
	for _, s := range f[11:13] { // utime, stime
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu: %w", err)
		}
		sum += v
	}
	return time.Duration(sum) * clockTick, nil
}

// parseMachineCPU reads the "cpu" line of /proc/stat: idle is idle plus
// iowait, total every column up to steal.
func parseMachineCPU(stat string) (idle, total time.Duration, err error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("read cpu: unexpected /proc/stat line %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("read cpu: %w", err)
		}
		total += time.Duration(v[i]) * clockTick
	}
	return time.Duration(v[3]+v[4]) * clockTick, total, nil
}
