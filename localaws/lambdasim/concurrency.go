package lambdasim

import (
	"fmt"
	"net/http"
)

// Code-size figures AWS reports in GetAccountSettings; the emulator has no
// code, so they are fixed.
const (
	accountTotalCodeSize    = 80530636800
	accountCodeSizeUnzipped = 262144000
	accountCodeSizeZipped   = 52428800
	functionCodeSize        = 4 << 20
)

type accountSettingsOutput struct {
	AccountLimit struct {
		TotalCodeSize                  int64
		CodeSizeUnzipped               int64
		CodeSizeZipped                 int64
		ConcurrentExecutions           int
		UnreservedConcurrentExecutions int
	}
	AccountUsage struct {
		TotalCodeSize int64
		FunctionCount int64
	}
}

func (st *state) getAccountSettings(*request) (int, any, *Error) {
	var out accountSettingsOutput
	out.AccountLimit.TotalCodeSize = accountTotalCodeSize
	out.AccountLimit.CodeSizeUnzipped = accountCodeSizeUnzipped
	out.AccountLimit.CodeSizeZipped = accountCodeSizeZipped
	out.AccountLimit.ConcurrentExecutions = st.concurrentExecutions
	out.AccountLimit.UnreservedConcurrentExecutions = st.unreserved()
	out.AccountUsage.FunctionCount = int64(len(st.functions))
	out.AccountUsage.TotalCodeSize = int64(len(st.functions)) * functionCodeSize
	return http.StatusOK, out, nil
}

type concurrencyJSON struct {
	ReservedConcurrentExecutions *int64 `json:",omitempty"`
}

// lookupFunction finds the function an unqualified FunctionName label
// names.
func (st *state) lookupFunction(label string) (*function, *Error) {
	fn, _, err := st.parseFunctionName(label)
	if err != nil {
		return nil, err
	}
	f := st.functions[fn]
	if f == nil {
		return nil, errNotFound("Function not found: " + st.functionARN(fn))
	}
	return f, nil
}

func (st *state) getFunctionConcurrency(req *request) (int, any, *Error) {
	f, err := st.lookupFunction(req.function)
	if err != nil {
		return 0, nil, err
	}
	var out concurrencyJSON
	if f.reserved != nil {
		r := int64(*f.reserved)
		out.ReservedConcurrentExecutions = &r
	}
	return http.StatusOK, out, nil
}

func (st *state) putFunctionConcurrency(req *request) (int, any, *Error) {
	var in concurrencyJSON
	if err := decodeBody(req.body, &in); err != nil {
		return 0, nil, err
	}
	// Reserved concurrency is the function's: AWS refuses a qualified
	// name or ARN, $LATEST included.
	if _, q, err := parseFunctionName(req.function); err == nil && q != "" {
		return 0, nil, errInvalidParameter(msgUnqualifiedOnly)
	}
	f, err := st.lookupFunction(req.function)
	if err != nil {
		return 0, nil, err
	}
	if in.ReservedConcurrentExecutions == nil {
		return 0, nil, errValidationf("Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	r := *in.ReservedConcurrentExecutions
	if r < 0 {
		return 0, nil, errValidationf("Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", r)
	}
	if r > maxInt32 {
		return 0, nil, errInvalidContent(fmt.Sprintf("Could not parse request body into json: Numeric value (%d) out of range of int", r))
	}
	if err := st.checkReserve(f, int(r)); err != nil {
		return 0, nil, err
	}
	n := int(r)
	f.reserved = &n
	return http.StatusOK, concurrencyJSON{ReservedConcurrentExecutions: &r}, nil
}

// checkReserve applies the account limits to reserving r for f: the
// reservation must hold f's provisioned concurrency and leave the minimum
// unreserved.
func (st *state) checkReserve(f *function, r int) *Error {
	pc := f.sumPC("")
	if r < pc {
		return errInvalidParameter(fmt.Sprintf("Specified ReservedConcurrentExecutions for function is less than function's provisioned concurrency [%d].", pc))
	}
	held := pc
	if f.reserved != nil {
		held = *f.reserved
	}
	if st.unreserved()+held-r < st.minUnreserved {
		return errAccountLimit(fmt.Sprintf("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", st.minUnreserved))
	}
	return nil
}

func (st *state) deleteFunctionConcurrency(req *request) (int, any, *Error) {
	f, err := st.lookupFunction(req.function)
	if err != nil {
		return 0, nil, err
	}
	f.reserved = nil
	return http.StatusNoContent, nil, nil
}
