#include "traffic/mode_factory.h"

#include <utility>

#include "util/micro_time.h"

namespace le::traffic {

ModeParts make_mode(ModeSettings settings, const ApiFactories& apis, const election::Clock& clock) {
  ModeParts parts;
  switch (settings.kind) {
    case ModeKind::readiness:
    case ModeKind::proxy:
      break;
    case ModeKind::label:
      parts.pods = apis.pods();
      parts.mode = make_label_mode(*parts.pods, std::move(settings.pods), std::move(settings.label_key),
                                   std::move(settings.label_value));
      break;
    case ModeKind::readiness_gate:
      parts.pods = apis.pods();
      // The condition's times are whole seconds in the API (metav1.Time).
      parts.mode =
          make_gate_mode(*parts.pods, std::move(settings.pods), std::move(settings.readiness_gate), [&clock] {
            return util::format_seconds_time(std::chrono::floor<std::chrono::seconds>(clock.wall_now()));
          });
      break;
    case ModeKind::endpoints:
      parts.slices = apis.slices();
      parts.mode = make_endpoints_mode(*parts.slices, std::move(settings.endpoints));
      break;
  }
  return parts;
}

}  // namespace le::traffic
