/*
 * "did you mean": the option closest to one mistyped, for both programs'
 * messages; getopt_long says only that it is unknown.
 */
#ifndef UDPFLOWS_SUGGEST_H
#define UDPFLOWS_SUGGEST_H

#include <getopt.h>

/*
 * What to say of an option getopt_long refused: argv's word typed
 * ("--refuse", "--s", "-x") and getopt's optopt as optchar. Writes to buf one of "unknown
 * option --refuse: did you mean --refused?", "--s could be --silent,
 * --since, ...", "option --since needs a value", or "unknown option -x".
 */
void suggest_message(const char *typed, int optchar, int missing_value,
    const struct option *opts, char *buf, size_t len);

#endif
