// ticketsim: buyer processes race for tickets; the checker says what went
// wrong.
#include "sim/cli/cli.h"

int main(int argc, char** argv) { return ticketsim::Main(argc, argv); }
