// Package scoring is mailwarden's rule engine: the one place where both
// front-ends (milter/ and policy/) and the offline `mailwarden check` turn a
// message attempt into a verdict.
//
// Data flow, in one paragraph: a front-end builds a Transaction and calls
// Engine.RunStage for every SMTP stage it sees (connect, helo, mail, rcpt,
// end of headers, end of message). The engine runs the checks registered for
// that stage and enabled for the transaction's peer profile (local,
// authenticated, remote); each Check reads the transaction and adds named
// Symbols to a Result, or forces an action through its configured mode. At
// the end, Engine.Verdict sums the symbol weights (defaults exported by each
// check package, overridable in the [scores] table of the TOML file), applies
// the spam levels and returns one Verdict. Modifiers (Engine.Modify) then turn
// that verdict into header changes, and the front-end maps verdict and changes
// to milter replies or a policy `action=` line.
//
// Checks live in their own packages below scoring/ (one per standard or SME
// setting) and never import each other; a check that needs another's result
// declares it with Needs and reads it from Transaction.Values.
package scoring
