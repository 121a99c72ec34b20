/**
 * Row and query types of the data model, from one neutral place. Both providers' clients are
 * generated from the same models (prisma/models.prisma), so their types are the same; code
 * outside db/ imports them from here, never from a generated client.
 */
export type * from '../generated/sqlite/client.js';
