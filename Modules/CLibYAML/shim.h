#ifndef RARANGI_CLIBYAML_SHIM_H
#define RARANGI_CLIBYAML_SHIM_H
/* libyaml's parser and document loader, for the configuration file reader
 * (RarangiConfig's YAMLDocument). Only RarangiConfig imports it. */
#include <yaml.h>
#endif
