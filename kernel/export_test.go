package kernel

// The field-use table of validate.go (the code of input.go's Input table),
// for the bad-input table of badinput_test.go, which derives its cases
// from it rather than writing the table again.
var (
	FieldUse   = fieldUse
	FieldNames = fieldNames
)

const (
	UseUnused   = unused
	UseOptional = optional
)

// SnapshotVersion1 encodes k as a version-1 snapshot (no call fingerprints
// of remembered requests), as a build before IDM-2 wrote it.
func (k *Kernel) SnapshotVersion1() []byte { return k.snapshot(1) }
