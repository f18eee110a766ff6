// Package authresult holds the typed results of the sender-authentication
// checks, passed between checks through the transaction's values
// (tx.SetValue/Value) and read by the Authentication-Results modifier
// (RFC 8601): SPF (RFC 7208) under KeySPF as *SPF, DKIM (RFC 6376) under
// KeyDKIM as []DKIM, DMARC (RFC 7489) under KeyDMARC as *DMARC.
//
// Result names are the RFC 8601 / RFC 7208 spellings, as typed strings that
// print well in logs and headers.
package authresult
