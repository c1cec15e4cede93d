#include "extern.h"
void starttls(int fd, const char *domain) { (void)fd; (void)domain; }
int tls_run(int fd, const struct tlsopt *o) { (void)fd; (void)o; return 5; }
