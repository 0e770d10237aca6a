// Command switchboard is the contact-center server: one binary with
// subcommands.
//
//	switchboard serve   [--config FILE]   run the server
//	switchboard migrate [--config FILE]   apply database migrations and exit
//	switchboard ivr validate FILE…        check IVR flows files
//	switchboard simulate --scenario FILE  run the ACD simulator
//	switchboard simulate --live           simulated traffic on a running server
//	switchboard version                   print the version
package main
