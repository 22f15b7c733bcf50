/* What nexd changed that a crash would leave behind and that cannot be
 * found again by a fixed name: the original values of sysctls. Before a
 * sysctl is changed its original value is written to the state directory
 * (sysctl-journal.json, 0600); a clean stop or the next start after a crash
 * writes the originals back and removes the file. */
#ifndef NEXD_JOURNAL_H
#define NEXD_JOURNAL_H

struct journal;

/* Opens the journal of a state directory; sysctl_root NULL: /proc/sys. */
int journal_open(struct journal **out, const char *state_dir, const char *sysctl_root);
/* Records the current value of key (once) and then writes value. */
int journal_sysctl_set(struct journal *j, const char *key, const char *value);
/* Writes every recorded original back (keys that vanished are skipped),
 * empties the journal and removes its file. Returns how many were restored,
 * or -errno. */
int journal_restore(struct journal *j);
void journal_close(struct journal *j);

#endif
