#include <cstdlib>
#include <vector>

#include "check.h"

namespace check {

static std::vector<Test>& registry() {
  static std::vector<Test> tests;
  return tests;
}
static int failures = 0;
static const char* current = "";

void add(const char* name, void (*fn)()) { registry().push_back({name, fn}); }

void fail(const char* file, int line, const std::string& what) {
  failures++;
  std::fprintf(stderr, "FAIL %s (%s:%d): %s\n", current, file, line, what.c_str());
}

}  // namespace check

int main(int argc, char** argv) {
  int ran = 0;
  for (const check::Test& t : check::registry()) {
    if (argc > 1 && std::strstr(t.name, argv[1]) == nullptr) continue;
    check::current = t.name;
    int before = check::failures;
    t.fn();
    ran++;
    std::printf("%s %s\n", check::failures == before ? "ok  " : "FAIL", t.name);
  }
  std::printf("%d tests, %d failed checks\n", ran, check::failures);
  return check::failures == 0 && ran > 0 ? 0 : 1;
}
