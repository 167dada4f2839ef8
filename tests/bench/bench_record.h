/* bench_record.h - the machine-readable side of every C benchmark here: one
 * JSON object per printed figure, appended as one line to the file that
 * LIPC_BENCH_JSONL names (scripts/bench.sh sets it and assembles
 * build/bench.json from the lines of every language). Without the variable
 * nothing is written: the printed tables are the benchmark's own output.
 *
 * A figure without a baseline passes base_name NULL (its baseline and ratio
 * are written as null). The unit is the figure's, and its baseline's.
 *
 * The file is opened in append mode for each record, so that benchmarks in
 * several processes (and languages) add to one file without coordinating. */
#ifndef LIPC_BENCH_RECORD_H
#define LIPC_BENCH_RECORD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes s as a JSON string (quotes, backslashes and control bytes escaped). */
static inline void bench_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* A number, or null for what JSON cannot hold (NaN, infinities). */
static inline void bench_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

static inline void bench_record(const char *name, double value, const char *unit, const char *base_name,
                                double base_value) {
  const char *path = getenv("LIPC_BENCH_JSONL");
  if (!path || !*path) return;
  FILE *f = fopen(path, "a");
  if (!f) {
    perror(path);
    exit(1); /* a run asked for records and would silently lack them */
  }
  fputs("{\"language\":\"c\",\"name\":", f);
  bench_json_string(f, name);
  fputs(",\"value\":", f);
  bench_json_number(f, value);
  fputs(",\"unit\":", f);
  bench_json_string(f, unit);
  fputs(",\"baseline_name\":", f);
  if (base_name) bench_json_string(f, base_name);
  else fputs("null", f);
  fputs(",\"baseline_value\":", f);
  if (base_name) bench_json_number(f, base_value);
  else fputs("null", f);
  fputs(",\"ratio\":", f);
  if (base_name && base_value != 0) bench_json_number(f, value / base_value);
  else fputs("null", f);
  fputs("}\n", f);
  if (fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

#endif
