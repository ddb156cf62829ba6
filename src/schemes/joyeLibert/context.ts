import type { Population } from '../scheme.js';
import type { Shape } from './codec.js';
import type { JoyeLibertParams } from './params.js';
import { decodePublicSetup, type JoyeLibertPublicSetup } from './publicSetup.js';

/** What every role of one deployment knows: parameters, population and the public setup. */
export interface Deployment {
  readonly params: JoyeLibertParams;
  readonly population: Population;
  readonly setup: JoyeLibertPublicSetup;
  readonly modulus: bigint;
  readonly modulusSquared: bigint;
  /** The codecs' view: sizes and the range of elements. */
  readonly shape: Shape;
}

export function deploymentOf(
  params: JoyeLibertParams,
  pop: Population,
  publicSetup: Uint8Array,
): Deployment {
  const setup = decodePublicSetup(publicSetup, params.modulusBits, pop.groups);
  const modulusSquared = setup.modulus * setup.modulus;
  return {
    params,
    population: pop,
    setup,
    modulus: setup.modulus,
    modulusSquared,
    shape: {
      modulusBits: params.modulusBits,
      modulusSquared,
      dims: pop.dimensions.length,
      devices: pop.devicesPerGroup,
    },
  };
}
