// Input files (a scenario, a history): regular files only, opened without
// ever waiting on something that is not one.
#ifndef TICKETSIM_BASE_INPUT_FILE_H_
#define TICKETSIM_BASE_INPUT_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/fd.h"

namespace ticketsim {

// "a FIFO": what a path is, for a file that is not a regular one.
std::string_view FileKindOf(mode_t mode);

// Opens `path` for reading (close-on-exec) if it is a regular file; a
// symlink to one is followed. A FIFO or a device is refused before it is
// opened (opening a FIFO waits for a writer; a device may act on being
// opened, or never end, as /dev/zero), and the path is opened non-blocking
// and checked again, should it have changed in between; the descriptor is
// then made blocking. On failure returns an empty Fd with *err the errno,
// or with *err 0 and *mode what the path is (FileKindOf).
Fd OpenRegularFile(const std::string& path, int* err, mode_t* mode);

}  // namespace ticketsim

#endif  // TICKETSIM_BASE_INPUT_FILE_H_
