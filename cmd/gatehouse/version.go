package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version overrides the module version when set at build time with
// -ldflags "-X main.version=v1.2.3" (a packager building from a tarball,
// where Go has no VCS information).
var version = ""

// buildVersion describes the binary from its build information: the module
// version (a tag, or Go's pseudo-version of the commit), the VCS revision
// and time, whether the tree was modified, and the Go version.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return versionOr("unknown") + " (no build information) " + runtime.Version()
	}
	return describeBuild(info)
}

func describeBuild(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	v = versionOr(v)
	var detail []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		detail = append(detail, "commit "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		detail = append(detail, t)
	}
	if settings["vcs.modified"] == "true" {
		detail = append(detail, "modified")
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	detail = append(detail, goVersion)
	return fmt.Sprintf("%s (%s)", v, strings.Join(detail, ", "))
}

func versionOr(v string) string {
	if version != "" {
		return version
	}
	return v
}
