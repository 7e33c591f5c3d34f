/*
 * detectors.c - the registry of detectors, in run order. Loop detectors
 * run before stalled_conversation (which reads their looped-turn marks);
 * refusal detectors read the per-turn classification the session makes.
 */
#include "internal.h"

const lci_detector_vt *const lci_detectors[] = {
    NULL,
};
