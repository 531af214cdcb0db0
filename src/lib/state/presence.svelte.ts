import { viewersSchema, type PresenceView, type Viewer } from '$lib/contracts/presence';
import { validated, type RealtimeSocket } from '$lib/realtime/client';

/** Who else is here, kept current by the server's `presence:changed` pushes. */
export class PresenceState {
  viewers = $state.raw<Viewer[]>([]);

  /** Viewers other than `userId` (yourself is not news). */
  others(userId: string): Viewer[] {
    return this.viewers.filter((v) => v.userId !== userId);
  }

  /** People (other than `userId`) with a tab on this lead. */
  onLead(leadId: string, userId: string): Viewer[] {
    return this.others(userId).filter((v) => v.views.some((view) => view.page === 'lead' && view.leadId === leadId));
  }

  apply(viewers: Viewer[]): void {
    this.viewers = viewers;
  }

  /**
   * Say what this tab shows on every connect (socket data does not survive a reconnect) and
   * follow the list. Returns the unwiring function; closing the socket stays with its opener.
   */
  connect(socket: RealtimeSocket, view: PresenceView): () => void {
    const onConnect = () => socket.emit('presence:viewing', view, () => {});
    const onChanged = validated('presence:changed', viewersSchema, (v) => this.apply(v));
    socket.on('connect', onConnect);
    socket.on('presence:changed', onChanged);
    if (socket.connected) onConnect();
    return () => {
      socket.off('connect', onConnect);
      socket.off('presence:changed', onChanged);
    };
  }
}
