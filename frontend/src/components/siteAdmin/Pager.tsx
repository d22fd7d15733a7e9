/** Previous / next through a reading queue's pages; nothing when it fits on one. */
import { QUEUE_PAGE_SIZE, type QueuePage } from "../../hooks/useReadingQueue";

export function Pager({ data, setPage }: { data: QueuePage; setPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(data.count / QUEUE_PAGE_SIZE));
  if (pages === 1) return null;
  return (
    <div className="actions small">
      <button type="button" disabled={data.page <= 1} onClick={() => setPage(data.page - 1)}>Previous</button>
      <span className="muted">Page {data.page} of {pages}</span>
      <button type="button" disabled={data.page >= pages} onClick={() => setPage(data.page + 1)}>Next</button>
    </div>
  );
}
