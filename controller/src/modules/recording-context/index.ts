/**
 * A recording in its context (`GET /recordings/:id/context`): what the recordings module knows
 * of it beside what the attendance module knows of its schedule's voice channel. Built after
 * both, from their ports, so neither depends on the other.
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { AttendanceInWindow } from '../attendance/index.js';
import type { RecordingsService } from '../recordings/index.js';
import { RecordingContextRepository } from './recording-context.repository.js';
import { recordingContextRoutes } from './recording-context.routes.js';
import { RecordingContextService } from './recording-context.service.js';

export function createRecordingContextModule(
  core: ModuleCore,
  ports: { recordings: RecordingsService; attendanceInWindow: AttendanceInWindow },
): AppModule {
  const context = new RecordingContextService(
    new RecordingContextRepository(core.db),
    ports.recordings,
    ports.attendanceInWindow,
    core.now,
  );
  return { name: 'recording-context', routes: [recordingContextRoutes(context)], ports: {} };
}
