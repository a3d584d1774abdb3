/* flags.c - the flag table: strict parsing, --help and exit-2 messages.
 * See kit.h. Nothing is started before every argument has been checked. */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include "kit_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "42" or "-42": an optional minus, then digits only. No space, no '+',
 * no hex, nothing trailing. */
static bool is_integer(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* "2", "0.25", ".5": digits with at most one '.'. No sign, exponent,
 * "inf" or "nan", which strtod() alone would take. */
static bool is_decimal(const char *s)
{
    int digits = 0, dots = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s == '.' && dots == 0)
            dots++;
        else
            return false;
    }
    return digits > 0;
}

long parse_long(const char *what, const char *text, long min, long max)
{
    if (!is_integer(text))
        usage_error("%s: '%s' is not a whole number (allowed: %ld to %ld)", what, text, min, max);
    errno = 0;
    long value = strtol(text, NULL, 10);
    if (errno == ERANGE || value < min || value > max)
        usage_error("%s: %s is out of range (allowed: %ld to %ld)", what, text, min, max);
    return value;
}

double parse_seconds(const char *what, const char *text, double min, double max)
{
    if (!is_decimal(text))
        usage_error("%s: '%s' is not a number of seconds (allowed: %g to %g)", what, text, min, max);
    double value = strtod(text, NULL);
    if (value < min || value > max)
        usage_error("%s: %s is out of range (allowed: %g to %g seconds)", what, text, min, max);
    return value;
}

int choice_index(const char *choices, const char *text)
{
    size_t len = strlen(text);
    int index = 0;
    for (const char *word = choices; word; index++) {
        const char *end = strchr(word, '|');
        size_t word_len = end ? (size_t)(end - word) : strlen(word);
        if (len > 0 && word_len == len && strncmp(word, text, len) == 0)
            return index;
        word = end ? end + 1 : NULL;
    }
    return -1;
}

/* The choices "a|b|c" as "a, b, c", for messages and --help. */
static const char *choice_list(const char *choices, char *buf, size_t size)
{
    size_t used = 0;
    for (const char *c = choices; *c && used + 3 < size; c++) {
        if (*c == '|') {
            buf[used++] = ',';
            buf[used++] = ' ';
        } else {
            buf[used++] = *c;
        }
    }
    buf[used] = '\0';
    return buf;
}

static void check_text(const struct flag *f, const char *text)
{
    size_t len = strlen(text);
    if (len < (size_t)f->min || len > (size_t)f->max)
        usage_error("%s: must be %.0f to %.0f characters", f->name, f->min, f->max);
    for (const char *c = text; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            usage_error("%s: a control character is not allowed", f->name);
}

/* Store TEXT, the value given for flag F. */
static void set_value(const struct flag *f, const char *text)
{
    char list[256];
    switch (f->kind) {
    case FLAG_INT:
        *(long *)f->value = parse_long(f->name, text, (long)f->min, (long)f->max);
        break;
    case FLAG_SECONDS:
        *(double *)f->value = parse_seconds(f->name, text, f->min, f->max);
        break;
    case FLAG_TEXT:
        check_text(f, text);
        *(const char **)f->value = text;
        break;
    case FLAG_CHOICE:
        if (choice_index(f->choices, text) < 0)
            usage_error("%s: '%s' is not one of: %s", f->name, text,
                        choice_list(f->choices, list, sizeof list));
        *(const char **)f->value = text;
        break;
    case FLAG_SWITCH:
        *(bool *)f->value = true;
        break;
    }
}

static const char *metavar(enum flag_kind kind)
{
    switch (kind) {
    case FLAG_INT:
        return " N";
    case FLAG_SECONDS:
        return " SECONDS";
    case FLAG_TEXT:
        return " TEXT";
    case FLAG_CHOICE:
        return " WORD";
    default:
        return "";
    }
}

/* "(default 49; 1 to 1000)" and the like: what --help says of a value. */
static void describe_value(const struct flag *f, char *buf, size_t size)
{
    char list[256], def[128] = "";
    /* A help text that speaks of its default itself gets only the range. */
    bool own_default = strstr(f->help, "default") != NULL;
    const char *text = f->kind == FLAG_TEXT || f->kind == FLAG_CHOICE ? *(const char **)f->value : NULL;
    if (!own_default && (f->kind == FLAG_INT))
        snprintf(def, sizeof def, "default %ld; ", *(long *)f->value);
    else if (!own_default && f->kind == FLAG_SECONDS)
        snprintf(def, sizeof def, "default %g; ", *(double *)f->value);
    else if (!own_default && text)
        snprintf(def, sizeof def, "default %s; ", *text ? text : "none");
    switch (f->kind) {
    case FLAG_INT:
        snprintf(buf, size, " (%s%.0f to %.0f)", def, f->min, f->max);
        break;
    case FLAG_SECONDS:
        snprintf(buf, size, " (%s%g to %g)", def, f->min, f->max);
        break;
    case FLAG_TEXT:
        snprintf(buf, size, " (%s%.0f to %.0f characters)", def, f->min, f->max);
        break;
    case FLAG_CHOICE:
        snprintf(buf, size, " (%sone of %s)", def, choice_list(f->choices, list, sizeof list));
        break;
    default:
        buf[0] = '\0';
    }
}

static void help_line(const char *left, const char *text, const char *detail)
{
    if (strlen(left) > 22) /* a long flag: its help goes on the next line */
        printf("  %s\n  %-22s %s%s\n", left, "", text, detail);
    else
        printf("  %-22s %s%s\n", left, text, detail);
}

static noreturn void print_help(const struct program *prog)
{
    printf("usage: %s [options]%s%s\n\n%s\n\n", kit_program_name, prog->args ? " " : "",
           prog->args ? prog->args : "", prog->purpose);
    char left[64], detail[320];
    for (const struct flag *f = prog->flags; f && f->name; f++) {
        snprintf(left, sizeof left, "%s%s", f->name, metavar(f->kind));
        describe_value(f, detail, sizeof detail);
        help_line(left, f->help, detail);
    }
    if (prog->timeline) {
        help_line("--timeline[=color]", "after the run, draw what each process did over time", "");
        help_line("--trace FILE", "write the run's events as Chrome trace JSON (open in Perfetto)", "");
    }
    help_line("-h, --help", "show this help", "");
    if (prog->more)
        printf("\n%s\n", prog->more);
    fflush(stdout);
    exit(ferror(stdout) ? 1 : 0);
}

/* If ARG is NAME alone or NAME=value, return true and set *INLINE to the
 * value after '=' (NULL when there is none). */
static bool flag_matches(const char *arg, const char *name, const char **inline_value)
{
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
        return false;
    *inline_value = arg[len] == '=' ? arg + len + 1 : NULL;
    return true;
}

/* The value of a flag that takes one: after '=' or the next argument. */
static const char *take_value(int argc, char **argv, int *i, const char *name, const char *inline_value)
{
    if (inline_value)
        return inline_value;
    if (*i + 1 >= argc)
        usage_error("%s needs a value", name);
    *i += 1;
    return argv[*i];
}

/* --timeline[=ascii|color] and --trace FILE; true if ARG was one of them. */
static bool timeline_flag(int argc, char **argv, int *i, const char **trace, int *show)
{
    const char *value;
    if (flag_matches(argv[*i], "--timeline", &value)) {
        if (!value || strcmp(value, "ascii") == 0)
            *show = 1;
        else if (strcmp(value, "color") == 0)
            *show = 2;
        else
            usage_error("--timeline: '%s' is not one of: ascii, color", value);
        return true;
    }
    if (flag_matches(argv[*i], "--trace", &value)) {
        *trace = take_value(argc, argv, i, "--trace", value);
        if (**trace == '\0')
            usage_error("--trace: needs a file name");
        for (const char *c = *trace; *c; c++)
            if ((unsigned char)*c < ' ')
                usage_error("--trace: a control character is not allowed");
        return true;
    }
    return false;
}

/* Handle argv[*i], a flag of the table; false if it is none of them. */
static bool table_flag(int argc, char **argv, int *i, const struct flag *flags)
{
    const char *value;
    for (const struct flag *f = flags; f && f->name; f++) {
        if (!flag_matches(argv[*i], f->name, &value))
            continue;
        if (f->kind == FLAG_SWITCH && value)
            usage_error("%s takes no value", f->name);
        set_value(f, f->kind == FLAG_SWITCH ? "" : take_value(argc, argv, i, f->name, value));
        return true;
    }
    return false;
}

int kit_start(int argc, char **argv, const struct program *prog)
{
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    kit_program_name = slash ? slash + 1 : argc > 0 ? argv[0] : "kit";

    /* Positional arguments are moved, in order, to the end of argv. */
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    if (!positional)
        die_errno("calloc");
    int npos = 0, show = 0;
    const char *trace = NULL;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (!prog->args)
                usage_error("unknown argument '%s'", arg);
            positional[npos++] = argv[i];
        } else if (strcmp(arg, "--") == 0) {
            only_positional = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_help(prog);
        } else if (!(prog->timeline && timeline_flag(argc, argv, &i, &trace, &show)) &&
                   !table_flag(argc, argv, &i, prog->flags)) {
            usage_error("unknown argument '%s'", arg);
        }
    }
    int first = argc - npos;
    memcpy(argv + first, positional, (size_t)npos * sizeof *positional);
    free(positional);

    kit_registry_init();
    if (show || trace)
        kit_timeline_open(trace, show > 0, show == 2);
    return first;
}
