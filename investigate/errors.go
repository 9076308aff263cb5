package investigate

import "fmt"

// InputError is a request a person got wrong (a target that does not
// parse). Its message is written for that person: it quotes only what they
// typed and says how to fix it, so an adapter may show it as it is.
// Match it with errors.As.
type InputError struct {
	Reason string
}

func (e *InputError) Error() string { return e.Reason }

func inputErrorf(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}
