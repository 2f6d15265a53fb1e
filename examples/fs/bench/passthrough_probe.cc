// passthrough_probe: whether this machine's kernel serves a FUSE file's reads from a
// backing file itself (FUSE passthrough, protocol 7.40 and later), and how fast O_DIRECT
// reads of a mounted file are with it and without it, beside reading the backing file
// directly. It is the measurement behind examples/fs's plan for reads beyond what a FUSE
// round trip per request allows (docs/benchmarks.md, "FUSE passthrough").
//
//   passthrough_probe [--off] [--pages=N] [--mib=N]
//
// It mounts a one-file filesystem of its own at a fresh directory under /tmp (as root:
// it speaks the /dev/fuse protocol itself, since libfuse 3.14 knows no passthrough), whose
// file `f` holds --mib (256) MiB of a memfd. With passthrough (unless --off) its open
// replies name the memfd as the file's backing (FUSE_DEV_IOC_BACKING_OPEN), and the kernel
// sends no READ request at all; without it, each READ of up to --pages (256) pages is
// answered from the memfd. It reads the file with O_DIRECT in 1 MiB pread(2)s, five times,
// between two rounds of the memfd itself (tmpfs), and prints the best rates and how many
// READ requests it served:
//
//   passthrough on: fuse 6.23 GB/s, memfd 6.85/4.91 GB/s: 1.06x; READ requests 0
//
// Exits 1 if it cannot mount, 2 if passthrough was asked for and the kernel did not take
// it (the kernel's offer and the ioctl's error are on stderr).

#include <fcntl.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Protocol 7.40's additions, which Debian 12's <linux/fuse.h> (7.38) lacks.
constexpr uint64_t kPassthrough = uint64_t{1} << 37;  // FUSE_PASSTHROUGH, in flags2
constexpr uint32_t kOpenPassthrough = 1 << 7;         // FOPEN_PASSTHROUGH
struct BackingMap {                                   // struct fuse_backing_map
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
constexpr unsigned long kBackingOpen = _IOW(229, 1, BackingMap);  // FUSE_DEV_IOC_BACKING_OPEN
struct InitOut {                                                  // fuse_init_out, 7.40
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
  uint32_t unused[6];
};
struct OpenOut {  // fuse_open_out, 7.40
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};

struct Probe {
  int fuse_fd = -1;
  int data_fd = -1;
  bool passthrough = true;
  uint16_t pages = 256;
  uint64_t size = 0;
  int backing_id = -1;
  bool kernel_offers = false;
  std::atomic<int> reads{0};
};

void Reply(const Probe& p, uint64_t unique, int error, const void* out, size_t len) {
  fuse_out_header header{.len = static_cast<uint32_t>(sizeof(header) + (error ? 0 : len)),
                         .error = -error,
                         .unique = unique};
  iovec iov[2] = {{&header, sizeof(header)}, {const_cast<void*>(out), error ? 0 : len}};
  (void)!writev(p.fuse_fd, iov, 2);  // ENOENT: the request was interrupted
}

void FillAttr(const Probe& p, fuse_attr* attr, uint64_t ino) {
  *attr = {};
  attr->ino = ino;
  attr->nlink = ino == FUSE_ROOT_ID ? 2 : 1;
  attr->mode = ino == FUSE_ROOT_ID ? (S_IFDIR | 0755) : (S_IFREG | 0644);
  attr->size = ino == FUSE_ROOT_ID ? 0 : p.size;
  attr->blocks = attr->size / 512;
  attr->blksize = 4096;
}

// Answers the kernel's requests until the filesystem is unmounted.
void Serve(Probe& p) {
  std::vector<char> request(1 << 21);
  std::vector<char> data(static_cast<size_t>(p.pages) * 4096);
  while (true) {
    const ssize_t n = read(p.fuse_fd, request.data(), request.size());
    if (n < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return;  // ENODEV: unmounted
    }
    const auto* in = reinterpret_cast<const fuse_in_header*>(request.data());
    const char* arg = request.data() + sizeof(*in);
    switch (in->opcode) {
      case FUSE_INIT: {
        fuse_init_in init;
        std::memcpy(&init, arg, sizeof(init));
        uint64_t offered = init.flags;
        if (init.flags & FUSE_INIT_EXT) offered |= uint64_t{init.flags2} << 32;
        p.kernel_offers = (offered & kPassthrough) != 0;
        uint64_t want = FUSE_INIT_EXT | FUSE_MAX_PAGES | FUSE_BIG_WRITES | FUSE_ASYNC_READ;
        if (p.passthrough) want |= kPassthrough;
        want &= offered | FUSE_INIT_EXT;
        InitOut out{};
        out.major = FUSE_KERNEL_VERSION;
        out.minor = 40;
        out.max_readahead = init.max_readahead;
        out.flags = static_cast<uint32_t>(want);
        out.flags2 = static_cast<uint32_t>(want >> 32);
        out.max_write = 1 << 20;
        out.time_gran = 1;
        out.max_pages = p.pages;
        out.max_stack_depth = p.passthrough ? 1 : 0;
        Reply(p, in->unique, 0, &out, sizeof(out));
        break;
      }
      case FUSE_LOOKUP: {
        if (in->nodeid != FUSE_ROOT_ID || std::strcmp(arg, "f") != 0) {
          Reply(p, in->unique, ENOENT, nullptr, 0);
          break;
        }
        fuse_entry_out entry{};
        entry.nodeid = 2;
        entry.entry_valid = entry.attr_valid = 3600;
        FillAttr(p, &entry.attr, 2);
        Reply(p, in->unique, 0, &entry, sizeof(entry));
        break;
      }
      case FUSE_GETATTR: {
        fuse_attr_out attr{};
        attr.attr_valid = 3600;
        FillAttr(p, &attr.attr, in->nodeid);
        Reply(p, in->unique, 0, &attr, sizeof(attr));
        break;
      }
      case FUSE_OPEN: {
        OpenOut out{.fh = 1, .open_flags = 0, .backing_id = 0};
        if (p.passthrough && p.backing_id < 0) {
          BackingMap map{.fd = p.data_fd, .flags = 0, .padding = 0};
          p.backing_id = ioctl(p.fuse_fd, kBackingOpen, &map);
          if (p.backing_id < 0) std::perror("passthrough_probe: FUSE_DEV_IOC_BACKING_OPEN");
        }
        if (p.passthrough && p.backing_id >= 0) {
          out.open_flags = kOpenPassthrough;
          out.backing_id = p.backing_id;
        }
        Reply(p, in->unique, 0, &out, sizeof(out));
        break;
      }
      case FUSE_READ: {
        fuse_read_in read_in;
        std::memcpy(&read_in, arg, sizeof(read_in));
        p.reads.fetch_add(1, std::memory_order_relaxed);
        const uint64_t left = read_in.offset < p.size ? p.size - read_in.offset : 0;
        const size_t len =
            std::min<uint64_t>({uint64_t{read_in.size}, left, uint64_t{data.size()}});
        const ssize_t got = pread(p.data_fd, data.data(), len, static_cast<off_t>(read_in.offset));
        Reply(p, in->unique, got < 0 ? errno : 0, data.data(), got < 0 ? 0 : got);
        break;
      }
      case FUSE_FLUSH:
      case FUSE_RELEASE:
        Reply(p, in->unique, 0, nullptr, 0);
        break;
      case FUSE_FORGET:
      case FUSE_BATCH_FORGET:
        break;  // no reply
      default:
        Reply(p, in->unique, ENOSYS, nullptr, 0);
    }
  }
}

// The best of `rounds` O_DIRECT reads of all of `path` in 1 MiB pread(2)s, in GB/s.
double ReadRate(const std::string& path, int rounds) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    std::perror(path.c_str());
    return 0;
  }
  void* buffer = nullptr;
  if (posix_memalign(&buffer, 4096, 1 << 20) != 0) return 0;
  double best = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    uint64_t total = 0;
    ssize_t n;
    while ((n = pread(fd, buffer, 1 << 20, static_cast<off_t>(total))) > 0) total += n;
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    if (n == 0) best = std::max(best, total / took.count() / 1e9);
  }
  free(buffer);
  close(fd);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Probe p;
  uint64_t mib = 256;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--off") {
      p.passthrough = false;
    } else if (arg.rfind("--pages=", 0) == 0) {
      p.pages = static_cast<uint16_t>(std::clamp(std::atoi(arg.c_str() + 8), 1, 256));
    } else if (arg.rfind("--mib=", 0) == 0) {
      mib = std::max(1, std::atoi(arg.c_str() + 6));
    } else {
      std::fprintf(stderr, "usage: passthrough_probe [--off] [--pages=N] [--mib=N]\n");
      return arg == "--help" || arg == "-h" ? 0 : 1;
    }
  }
  p.size = mib << 20;
  char dir[] = "/tmp/passthrough_probe.XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  p.data_fd = memfd_create("passthrough_probe", MFD_CLOEXEC);
  if (p.data_fd < 0 || ftruncate(p.data_fd, static_cast<off_t>(p.size)) != 0) return 1;
  void* bytes = mmap(nullptr, p.size, PROT_WRITE, MAP_SHARED, p.data_fd, 0);
  if (bytes == MAP_FAILED) return 1;
  std::memset(bytes, 0x5a, p.size);
  munmap(bytes, p.size);
  p.fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  const std::string options =
      "fd=" + std::to_string(p.fuse_fd) + ",rootmode=40000,user_id=0,group_id=0,allow_other";
  if (p.fuse_fd < 0 || mount("passthrough_probe", dir, "fuse.passthrough_probe",
                             MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    std::perror("passthrough_probe: mount (as root, with /dev/fuse)");
    rmdir(dir);
    return 1;
  }
  std::thread server([&p] { Serve(p); });
  const std::string memfd = "/proc/self/fd/" + std::to_string(p.data_fd);
  const double before = ReadRate(memfd, 5);
  const double fuse = ReadRate(std::string(dir) + "/f", 5);
  const double after = ReadRate(memfd, 5);
  umount2(dir, MNT_DETACH);
  server.join();
  rmdir(dir);
  std::printf("passthrough %s: fuse %.2f GB/s, memfd %.2f/%.2f GB/s: %.2fx; READ requests %d\n",
              p.passthrough ? "on" : "off", fuse, before, after, fuse / ((before + after) / 2),
              p.reads.load());
  if (p.passthrough && (!p.kernel_offers || p.backing_id < 0)) {
    std::fprintf(stderr, "passthrough_probe: the kernel %s passthrough\n",
                 p.kernel_offers ? "offered but refused" : "does not offer");
    return 2;
  }
  return 0;
}
