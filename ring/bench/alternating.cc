#include "ring/bench/alternating.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

namespace syslink::ring::bench {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

AlternatingSlices::~AlternatingSlices() {
  kill(floor_peer_, SIGCONT);
  kill(subject_peer_, SIGCONT);
}

void AlternatingSlices::Switch(pid_t stop, pid_t resume) {
  kill(stop, SIGSTOP);
  int status;
  waitpid(stop, &status, WUNTRACED);
  kill(resume, SIGCONT);
}

}  // namespace syslink::ring::bench
