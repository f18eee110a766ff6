# Dovecot Sieve: file mail mailwarden sorted as junk into the junkmail folder (SME's name; [bayes.learn] junk_folder counts it)
# (SME SortSpam). Install as the user's script or as a global
# sieve_before script (dovecot.conf: plugin { sieve_before = /etc/dovecot/sieve/junk.sieve }),
# then compile it: sievec /etc/dovecot/sieve/junk.sieve
# Users who opted out ([sorting] opt_out) get no header, so the rule does nothing for them.
require ["fileinto", "mailbox"];

if header :is "X-Mailwarden-Sort" "Junk" {
    fileinto :create "junkmail";
    stop;
}
