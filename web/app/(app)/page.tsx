import { Landing } from '../../components/shell/landing';

export default function RootPage() {
  return <Landing />;
}
