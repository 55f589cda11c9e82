package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMakeBuildFunction runs what `sam build` runs for each function (BuildMethod: makefile)
// and checks that it leaves a static, stripped linux/arm64 bootstrap in ARTIFACTS_DIR.
func TestMakeBuildFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles prewarm for linux/arm64; skipped with -short")
	}
	if _, err := os.Stat("../cmd/prewarm"); os.IsNotExist(err) {
		t.Skip("cmd/prewarm does not exist yet: nothing to build")
	}
	makePath, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is not installed: %v", err)
	}
	tmpl := loadTemplate(t)
	for _, id := range functionIDs {
		t.Run(id, func(t *testing.T) {
			fn := functionByID(t, tmpl, id)
			if fn.Metadata["BuildMethod"] != "makefile" {
				t.Fatalf("%s BuildMethod = %v, want makefile", id, fn.Metadata["BuildMethod"])
			}
			artifacts := t.TempDir()
			cmd := exec.Command(makePath, "build-"+id, "ARTIFACTS_DIR="+artifacts)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", id, err, out)
			}
			checkBootstrap(t, filepath.Join(artifacts, "bootstrap"))
		})
	}
}

// checkBootstrap checks that the file is a static, stripped linux/arm64 executable.
func checkBootstrap(t *testing.T, path string) {
	t.Helper()

	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("open bootstrap: %v", err)
	}
	defer func() { _ = f.Close() }() // opened for reading only
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		t.Errorf("bootstrap is %v %v, want EM_AARCH64 ELFCLASS64 (arm64 in template.yaml)", f.Machine, f.Class)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap ELF type = %v, want ET_EXEC (a static executable)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bootstrap has a dynamic loader (PT_INTERP): build it with CGO_ENABLED=0")
		}
	}
	if s := f.Section(".symtab"); s != nil {
		t.Errorf("bootstrap has a symbol table: build it with -ldflags=-s")
	}
	if s := f.Section(".note.go.buildid"); s != nil {
		if data, err := s.Data(); err == nil && len(data) > 16 {
			// The note holds a 16-byte header plus the build ID; -buildid= leaves it empty.
			t.Errorf("bootstrap carries a build ID (%d bytes): build it with -ldflags=-buildid=", len(data)-16)
		}
	}
}
