package ivr

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// ValidateMain is the body of `switchboard ivr validate [-prompts DIR] [-queues a,b,c] FILE…`:
// it validates each flows file, prints every problem as "file:line: severity: flow F node
// N: reason" to stdout, and returns the exit status: 0 when no file has errors (warnings
// allowed), 1 when any has, 2 on a usage error. Without -queues, queue names are not
// checked; without -prompts, prompt files are not checked.
func ValidateMain(args []string, stdout, stderr io.Writer) int {
	return ValidateMainWith(Options{}, args, stdout, stderr)
}

// ValidateMainWith is ValidateMain with base options the flags add to: the speech
// recognizer (or why there is none), so that `switchboard ivr validate` checks speech
// nodes as the server will load them.
func ValidateMainWith(base Options, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ivr validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	promptDir := fs.String("prompts", "", "prompt root `dir` (<dir>/<lang>/<name>.wav); empty: prompts not checked")
	queues := fs.String("queues", "", "comma-separated known queue `names`; empty: queues not checked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard ivr validate [-prompts DIR] [-queues a,b,c] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	opts := base
	opts.PromptDir = *promptDir
	if *queues != "" {
		opts.Queues = strings.Split(*queues, ",")
		for i := range opts.Queues {
			opts.Queues[i] = strings.TrimSpace(opts.Queues[i])
		}
	}
	return validateFiles(fs.Args(), opts, stdout)
}

// ValidateFiles validates files with opts (the ACD's queue names, the prompt root), prints
// the problems to w and returns the exit status like ValidateMain. `switchboard ivr validate` uses it
// when the queue names come from the main configuration.
func ValidateFiles(files []string, opts Options, w io.Writer) int {
	return validateFiles(files, opts, w)
}

func validateFiles(files []string, opts Options, w io.Writer) int {
	status := 0
	for _, file := range files {
		problems := Validate(file, opts)
		errs, warns := 0, 0
		for _, p := range problems {
			fmt.Fprintln(w, p.String())
			if p.Severity == SeverityError {
				errs++
			} else {
				warns++
			}
		}
		if errs > 0 {
			status = 1
			fmt.Fprintf(w, "%s: invalid: %d error(s), %d warning(s)\n", file, errs, warns)
		} else {
			fmt.Fprintf(w, "%s: ok, %d warning(s)\n", file, warns)
		}
	}
	return status
}
